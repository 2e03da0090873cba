"""The DCI Social Registry API (Digital Convergence Initiative, spdci/standards v1.0.0): signed
envelopes for partner systems that speak DCI rather than Povguard's own REST API."""
