"""AdmissionReview in and out, and the value types every part shares (request, Decision); no I/O."""
