"""Policy programmes beside routing: visiting, entitlements and settlement, the 15-minute circle."""
