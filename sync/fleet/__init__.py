"""A fleet of booths and its hub: provisioning (the fleet CA, device bundles, joining), the
booth's installed membership, and the encrypted template messages both sides exchange.

Neither booth-only nor hub-only: the booth imports it to join and to talk to the hub, the
operator's fleet commands to create the fleet, the hub to read its fleet folder. It never
imports sync.hub.
"""
