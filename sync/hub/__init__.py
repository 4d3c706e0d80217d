"""The hub: ingests the fleet's verdicts (verified, stored once, acknowledged after commit).

Never imported by booth code (import-linter: only sync.hub and the command dispatcher's hub
route import it); the booth's PyInstaller spec excludes it.
"""
