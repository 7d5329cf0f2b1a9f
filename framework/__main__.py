"""``python -m idocbridge``: the same as the ``idocbridge`` command."""

from idocbridge.cli import main

main()
