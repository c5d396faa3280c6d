"""The policy's programmes beside routing, each with a rule table of its own that a locality
edits: visiting of special groups (``visiting``), entitlements, default packages and monthly
settlement (``entitlements``, ``packages``, ``settlement``), the 15-minute circle and where to
open a station (``circle``, ``siting``). ``rules`` reads one locality's tables."""
