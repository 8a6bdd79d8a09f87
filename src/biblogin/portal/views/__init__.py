"""The portal's pages (Bibliotek.dk): they parse, call one service or selector, and render."""
