enum _PlaceholderLetheSCIM {}
