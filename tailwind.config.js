// Tailwind CSS v3 for the Koepon web app; built by scripts/build-web-assets (docs/WEB.md, "Assets").
/** @type {import('tailwindcss').Config} */
module.exports = {
  content: [
    "./src/koepon/web/templates/**/*.html",
    "./src/koepon/web/static/*.js",
    // Page modules may hand class names to templates (e.g. a rarity or a notice kind).
    "./src/koepon/web/**/*.py",
  ],
  // Component classes are often built from data ("rarity-{{ item.rarity }}"), which the content
  // scan cannot see: keep every one of them.
  safelist: [
    { pattern: /^(rarity|reveal)-(N|R|SR|SSR|UR)$/ },
    "reveal",
    "btn",
    "btn-primary",
    "card",
    "field",
    "notice",
    "notice-error",
    "notice-success",
    "table",
    "table-wrap",
    "badge",
    "overlay-body",
    "overlay-panel",
  ],
  theme: {
    extend: {
      fontFamily: {
        // Japanese first: the page text is mostly Japanese, so its glyphs decide the fallback order.
        sans: [
          "system-ui",
          '"Hiragino Sans"',
          '"Hiragino Kaku Gothic ProN"',
          '"Noto Sans JP"',
          '"Yu Gothic UI"',
          "Meiryo",
          "sans-serif",
        ],
      },
    },
  },
  plugins: [],
};
