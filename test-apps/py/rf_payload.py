"""What every test producer sends and how it is summed, shared by rf_producer.py
and rf_verify.py: the same bytes and checksum as test-apps/rf_producer.c
(payload_fill, payload_hash) and rf_producer_cpp.cc."""

MASK = (1 << 64) - 1
FNV_OFFSET = 1469598103934665603
FNV_PRIME = 1099511628211


def fnv1a(data):
    """FNV-1a, 64 bits; summed over messages (mod 2**64) it does not depend on order."""
    h = FNV_OFFSET
    for b in data:
        h = ((h ^ b) * FNV_PRIME) & MASK
    return h


def payload(thread, i, size):
    """Message i of thread: "<thread>:<i>:" then letters, size bytes."""
    head = f"{thread}:{i}:".encode()[:size]
    return head + bytes(ord("a") + (k + i) % 26 for k in range(len(head), size))
