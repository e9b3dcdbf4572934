"""qbo-crm-sync: keeps QuickBooks Online and HighLevel in step, one integration at a time."""
