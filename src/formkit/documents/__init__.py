"""Producing documents: the forms registry, the sandboxed docx engine, rendering, PDF conversion,
batches, the 文号 register, the template linter and roster reading. Imports formkit.core and
formkit.tables."""
