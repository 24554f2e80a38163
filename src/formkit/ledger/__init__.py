"""Reading ledgers back: the checker, the ledger workbooks formkit writes, figures and summaries,
and the due list. Imports formkit.core, formkit.tables and formkit.documents."""
