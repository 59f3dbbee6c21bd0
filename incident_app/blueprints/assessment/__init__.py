"""Risk assessment, determination and obligations of an incident."""
