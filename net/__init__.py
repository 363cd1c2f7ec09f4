"""What both the verifier and the service's own outgoing requests (webhooks, status
re-checks) obey when they touch the network: which addresses are public (`addresses`, the
one SSRF policy), and the bounded, thread-safe LRU they keep what they read in (`lru`).

Imports: nothing of this project but `net` itself.
"""
