"""Wire models of the hub's API, kept apart from the routes: `request` (what comes in),
`response` (what goes out), `decision` (Didit's v3 decision), `errors` (Didit-style error
bodies)."""
