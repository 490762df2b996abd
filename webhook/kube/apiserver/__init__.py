"""What the API server does to a raw manifest before any webhook sees it.

The offline CLI reads raw YAML, while the webhook sees objects the API server has already
decoded, defaulted and validated. This module closes that gap for NetworkPolicies (and, more
simply, Namespaces), mirroring kube-apiserver v1.36:

1. **decode** the manifest as the Go structs would: unknown fields are rejected (fieldValidation
   ``Strict``), warned about (``Warn``) or silently dropped (``Ignore``); wrong JSON types fail;
   ``null`` and empty lists/maps of ``omitempty`` fields vanish (``from: []`` is gone);
2. **default** with :func:`webhook.engine.apidefaults.apply_api_defaults` (the same code the engine
   uses), so ``policyTypes`` and a port's ``protocol`` are filled in;
3. **validate** as ``pkg/apis/networking/validation`` does, with its messages word for word
   (``spec.ingress[0].from[0].ipBlock.cidr: Invalid value: "0.0.0.0/00": must not have leading 0s
   in IP or prefix length``), including v1.36's strict CIDR validation (StrictIPCIDRValidation)
   and its ratcheting on UPDATE, and the warnings the API server returns.

``tests/fixtures/apiserver-verdicts.jsonl`` holds the real API server's verdicts this module is
tested against.
"""

from webhook.kube.apiserver.admit import admit_namespace, admit_network_policy
from webhook.kube.apiserver.errors import ApiServerResult, FieldValidation

__all__ = ["ApiServerResult", "FieldValidation", "admit_namespace", "admit_network_policy"]
