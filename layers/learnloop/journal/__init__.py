"""Trading journal: pattern occurrences, insights, analytics and the journal models."""
