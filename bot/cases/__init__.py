"""Cases residents ask the centers to handle: 代办, 上门, 投诉, 差评整改."""
