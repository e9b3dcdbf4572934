"""Local stand-ins for the QuickBooks Online and HighLevel APIs, for tests, the demo and the benchmark."""
