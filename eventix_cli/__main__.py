"""``python -m eventix_cli`` runs the same entry point as the ``eventix`` script."""

from eventix_cli.cli.app import main

if __name__ == "__main__":
    main()
