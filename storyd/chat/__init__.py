"""Chat sources: where votes come from (TikTok LIVE, storyctl/HTTP, the simulated audience)."""
