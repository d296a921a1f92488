/* check: do the rows on a screenshot of examples/leaderboard.c read what they should?
     check FONT SHOT.ppm EXPECTED.tsv [STATUS]
   EXPECTED.tsv has one "rank<TAB>name<TAB>score" line per row (from a REST find: the truth). This
   draws those rows, and STATUS, itself, with SDL2_ttf's software renderer, the same font and the
   layout of leaderboard.c (copied below), and compares each row's band of the screenshot with its
   own pixel by pixel; it also counts the row bars drawn. Exit 0: every band matches and the count
   is right; 1: a mismatch (each bad band is named); 2: bad input. */
#include <SDL.h>
#include <SDL_ttf.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* examples/leaderboard.c's layout and colours */
enum { WIN_W = 640, WIN_H = 480, ROWS = 10, ROW_Y0 = 64, ROW_H = 36, FONT_PX = 20 };
static const SDL_Color BG = {18, 22, 34, 255}, ROW_BG = {38, 46, 70, 255}, INK = {235, 235, 235, 255},
                       LIVE = {110, 220, 120, 255}, WAIT = {240, 190, 80, 255};
/* A pixel is off when a channel differs by more than TOLERANCE; a band matches with at most
   MAX_OFF such pixels. Renderers blend glyph edges a little differently (here by 4 at most); a
   wrong character moves tens to hundreds of pixels (a missing accent on "Chloé": 10). */
enum { TOLERANCE = 40, MAX_OFF = 2 };

typedef struct image { int w, h; unsigned char *rgb; } image;

/* A number of a PPM header, after whitespace and # comments (ImageMagick writes one). */
static int ppm_int(FILE *f) {
    int ch, n = 0;
    while ((ch = fgetc(f)) == '#' || ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r')
        if (ch == '#') while ((ch = fgetc(f)) != '\n' && ch != EOF) {}
    for (; ch >= '0' && ch <= '9' && n < 100000; ch = fgetc(f)) n = n * 10 + (ch - '0');
    return n;           /* the one whitespace after the number is read too */
}

static bool read_ppm(const char *path, image *im) {
    FILE *f = fopen(path, "rb");
    size_t n = 0;
    bool ok;
    if (!f) return false;
    ok = fgetc(f) == 'P' && fgetc(f) == '6';
    if (ok) {
        im->w = ppm_int(f);
        im->h = ppm_int(f);
        ok = ppm_int(f) == 255 && im->w > 0 && im->h > 0 && im->w < 20000 && im->h < 20000;
    }
    if (ok) n = (size_t)im->w * (size_t)im->h * 3;
    im->rgb = ok ? (unsigned char *)malloc(n) : NULL;
    ok = im->rgb && fread(im->rgb, 1, n, f) == n;
    fclose(f);
    return ok;
}

static void put_text(SDL_Surface *dst, TTF_Font *f, const char *text, int x, int y, bool right, SDL_Color ink) {
    SDL_Surface *s = text[0] ? TTF_RenderUTF8_Blended(f, text, ink) : NULL;
    SDL_Rect at;
    if (!s) return;
    at.x = right ? x - s->w : x;
    at.y = y;
    at.w = s->w;
    at.h = s->h;
    SDL_BlitSurface(s, NULL, dst, &at);
    SDL_FreeSurface(s);
}

static Uint32 rgb(SDL_Surface *s, SDL_Color c) { return SDL_MapRGB(s->format, c.r, c.g, c.b); }

static int channel_diff(const image *shot, const SDL_Surface *want, int x, int y) {
    Uint32 p = ((const Uint32 *)want->pixels)[y * (want->pitch / 4) + x];
    const unsigned char *q = shot->rgb + ((size_t)y * (size_t)shot->w + (size_t)x) * 3;
    Uint8 r, g, b;
    int d, worst = 0;
    SDL_GetRGB(p, want->format, &r, &g, &b);
    d = abs(q[0] - r); if (d > worst) worst = d;
    d = abs(q[1] - g); if (d > worst) worst = d;
    d = abs(q[2] - b); if (d > worst) worst = d;
    return worst;
}

/* Pixels of the band y0..y1 that differ from what was drawn here. */
static int off_pixels(const image *shot, const SDL_Surface *want, int y0, int y1) {
    int x, y, off = 0;
    for (y = y0; y < y1; y++)
        for (x = 0; x < WIN_W; x++) off += channel_diff(shot, want, x, y) > TOLERANCE;
    return off;
}

/* A row is drawn when most of its bar has the bar's colour. */
static bool bar_drawn(const image *shot, int row) {
    int x, y, hits = 0, area = (WIN_W - 32) * (ROW_H - 4);
    for (y = ROW_Y0 + row * ROW_H + 2; y < ROW_Y0 + (row + 1) * ROW_H - 2; y++)
        for (x = 16; x < WIN_W - 16; x++) {
            const unsigned char *q = shot->rgb + ((size_t)y * (size_t)shot->w + (size_t)x) * 3;
            hits += abs(q[0] - ROW_BG.r) <= 8 && abs(q[1] - ROW_BG.g) <= 8 && abs(q[2] - ROW_BG.b) <= 8;
        }
    return hits * 2 > area;
}

int main(int argc, char **argv) {
    char line[512], rows[ROWS][3][sizeof line + 2];
    int n = 0, i, drawn = 0, bad = 0, text_dy;
    image shot;
    TTF_Font *font;
    SDL_Surface *want;
    FILE *f;
    if (argc < 4 || argc > 5) {
        fprintf(stderr, "usage: check FONT SHOT.ppm EXPECTED.tsv [STATUS]\n");
        return 2;
    }
    if (!read_ppm(argv[2], &shot) || shot.w < WIN_W || shot.h < WIN_H) {
        fprintf(stderr, "check: %s is not a P6 PPM of at least %dx%d\n", argv[2], WIN_W, WIN_H);
        return 2;
    }
    if (!(f = fopen(argv[3], "r"))) { fprintf(stderr, "check: cannot read %s\n", argv[3]); return 2; }
    while (fgets(line, sizeof line, f)) {
        char *tab1 = strchr(line, '\t'), *tab2 = tab1 ? strchr(tab1 + 1, '\t') : NULL;
        if (!tab2 || n == ROWS) { fprintf(stderr, "check: bad line in %s: %s", argv[3], line); return 2; }
        *tab1 = *tab2 = 0;
        tab2[1 + strcspn(tab2 + 1, "\r\n")] = 0;
        snprintf(rows[n][0], sizeof rows[n][0], "%s.", line);
        snprintf(rows[n][1], sizeof rows[n][1], "%s", tab1 + 1);
        snprintf(rows[n][2], sizeof rows[n][2], "%s", tab2 + 1);
        n++;
    }
    fclose(f);
    if (TTF_Init() != 0 || !(font = TTF_OpenFont(argv[1], FONT_PX))) {
        fprintf(stderr, "check: font %s: %s\n", argv[1], TTF_GetError());
        return 2;
    }
    want = SDL_CreateRGBSurfaceWithFormat(0, WIN_W, WIN_H, 32, SDL_PIXELFORMAT_ARGB8888);
    if (!want) { fprintf(stderr, "check: %s\n", SDL_GetError()); return 2; }
    SDL_FillRect(want, NULL, rgb(want, BG));
    text_dy = (ROW_H - TTF_FontHeight(font)) / 2;
    for (i = 0; i < n; i++) {
        int y = ROW_Y0 + i * ROW_H;
        SDL_Rect bar;
        bar.x = 16; bar.y = y + 2; bar.w = WIN_W - 32; bar.h = ROW_H - 4;
        SDL_FillRect(want, &bar, rgb(want, ROW_BG));
        put_text(want, font, rows[i][0], 64, y + text_dy, true, INK);
        put_text(want, font, rows[i][1], 80, y + text_dy, false, INK);
        put_text(want, font, rows[i][2], WIN_W - 32, y + text_dy, true, INK);
    }
    if (argc == 5) put_text(want, font, argv[4], 24, WIN_H - 40, false, strcmp(argv[4], "live") == 0 ? LIVE : WAIT);

    for (i = 0; i < ROWS; i++) {
        int off = off_pixels(&shot, want, ROW_Y0 + i * ROW_H, ROW_Y0 + (i + 1) * ROW_H);
        drawn += bar_drawn(&shot, i);
        if (off <= MAX_OFF) continue;
        bad++;
        if (i < n) printf("check: row %d is not \"%s %s %s\": %d pixels off\n", i + 1, rows[i][0], rows[i][1], rows[i][2], off);
        else printf("check: row %d should be empty: %d pixels off\n", i + 1, off);
    }
    if (argc == 5) {
        int off = off_pixels(&shot, want, WIN_H - 48, WIN_H);
        if (off > MAX_OFF) { bad++; printf("check: the status line is not \"%s\": %d pixels off\n", argv[4], off); }
    }
    if (drawn != n) { bad++; printf("check: %d rows drawn, %d expected\n", drawn, n); }
    if (!bad) printf("check: %d rows drawn, each reads as expected%s%s\n", n, argc == 5 ? ", status " : "", argc == 5 ? argv[4] : "");
    SDL_FreeSurface(want);
    TTF_CloseFont(font);
    TTF_Quit();
    free(shot.rgb);
    return bad ? 1 : 0;
}
