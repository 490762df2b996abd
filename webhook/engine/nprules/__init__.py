"""The NetworkPolicy rules NP001-NP017, one module per family; each rule is a pure function
from the normalised policy and its ``RuleConfig`` to findings (networkpolicy.py runs them)."""
