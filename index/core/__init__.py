"""Plain data, errors, settings, input limits and dates: what every other part of the engine stands on."""
