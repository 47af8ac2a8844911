"""Group-buys (拼团): teams opened and joined at a campaign's price, completed or expired."""
