"""The command-line entry point ``python -m implicit_bias.run`` (:mod:`implicit_bias.app.cli`)."""

from implicit_bias.app.cli import main

if __name__ == "__main__":
    main()
