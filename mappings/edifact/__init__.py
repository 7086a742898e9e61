"""UN/EDIFACT: the interchange layer and INVOIC D.96A (EANCOM EAN008) in both directions."""
