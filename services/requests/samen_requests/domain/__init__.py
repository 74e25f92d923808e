"""Rules of the requests service as plain Python: no database, no broker.

Every function here takes what it needs as arguments (including the current time), so the
nameko service can load data, call these rules and store the outcome.
"""
