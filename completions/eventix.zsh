#compdef eventix

_eventix_completion() {
  eval $(env _TYPER_COMPLETE_ARGS="${words[1,$CURRENT]}" _EVENTIX_COMPLETE=complete_zsh eventix)
}

compdef _eventix_completion eventix
