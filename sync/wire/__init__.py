"""The fleet's wire contract: MQTT topics and the payloads that travel on them.

    poh/v1/{fleet}/{device}/verdict    booth -> hub, QoS 1: the signed verdict bytes, exactly as
                                       stored in the booth's outbox (sync.verdict)
    poh/v1/{fleet}/{device}/ack        hub -> booth, QoS 1: HubAck, canonical JSON signed by the
                                       hub's Ed25519 key
    poh/v1/{fleet}/{device}/status     booth, retained, QoS 1: BoothStatus (the will says offline)
    poh/v1/{fleet}/{device}/register   booth -> hub, retained, QoS 1: Registration (trusted
                                       because the broker's ACL lets only that device write it)
"""
