"""app-interface native model: saas files, their promotion channels and the bot's promotion_data."""
