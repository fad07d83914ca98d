"""The trading journal: pattern occurrences, insights and their feedback, analytics, and the
journal models (outcome, churn, patterns, behaviour change, insight quality).

Modules are imported where they are used (``learnloop.journal.occurrences``, ...), so an ingest
path never pays for the analytics or the models.
"""
