"""PyInstaller entry point: the same `poh` command as the console script."""

from app.cli.main import main

if __name__ == "__main__":
    main()
