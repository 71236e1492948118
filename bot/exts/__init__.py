"""The bot's features, one package each (``_cog.py`` holds the Discord glue, the other modules plain logic).

Every package here is an extension the bot loads at start-up; a new folder is picked up by itself.
"""

import pkgutil

EXTENSIONS: tuple[str, ...] = tuple(
    sorted(f"{__name__}.{module.name}" for module in pkgutil.iter_modules(__path__) if module.ispkg)
)
