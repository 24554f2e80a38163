"""Lowest layer: errors, enumerations, value validators, record models, cross-field rules, file I/O,
resources and the zip package guard. Imports nothing from the other formkit packages."""
