"""Reading spreadsheets and CSV safely: the workbook guard, column definitions and header matching,
and the header-matched table reader shared by rosters and ledgers. Imports only formkit.core."""
