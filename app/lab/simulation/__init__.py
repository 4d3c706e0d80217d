"""Presentation-attack simulator: a camera model shared by live faces, prints and screen replays.

No real attack data ships in any registry package, so every PAD figure of this project comes from
these simulations (see /work/shared/DATA.md): settings/ draws parameters in two disjoint families
(tuning, held-out), scene/ frames the real colour portraits, camera/ photographs any scene,
print_attack/ and screen_replay/ build the attacks, dataset/ writes or streams whole sets.
"""
