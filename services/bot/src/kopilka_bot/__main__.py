"""``python -m kopilka_bot``: the bot process (see :mod:`kopilka_bot.main`)."""

from kopilka_bot.main import main

main()
