"""``python -m kopilka.migrations.cli``: apply every migration (the compose one-shot uses it)."""

from kopilka.migrations import upgrade_to_head

if __name__ == "__main__":
    upgrade_to_head()
    print("migrations applied")
