"""Flash sales (秒杀): a campaign's stock sold exactly, and attempts on a sold-out sale refused early."""
