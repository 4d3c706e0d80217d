"""Test support shared by the tiers: real external processes (Mosquitto) started per test.

Importable from any test as `support.<module>`: pytest puts tests/ on sys.path (rootdir conftest,
no __init__.py in the tier folders)."""
