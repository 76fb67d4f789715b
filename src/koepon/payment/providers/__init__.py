"""Payment provider adapters behind one interface: Stripe, KOMOJU and the built-in sandbox."""
