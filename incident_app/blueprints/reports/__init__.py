"""Reports: the HHS annual log of small breaches and the response metrics."""
