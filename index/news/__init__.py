"""What makes an answer news-aware: stories told over time, recency, wire copies, conflicting figures
and deep links."""
