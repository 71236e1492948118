"""Plain data, errors, settings and input limits: what every other part of the engine stands on."""
