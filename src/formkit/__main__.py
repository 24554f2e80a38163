"""``python -m formkit`` runs the command-line interface."""

from formkit.cli import main

if __name__ == "__main__":
    main()
