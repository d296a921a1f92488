/* leaderboard: a window with the top 10 of a class by score, kept exact by lq_view and drawn with
   SDL2 and SDL2_ttf. The game loop calls lq_step() once per frame; the view says what the rows
   are, the window animates toward them: a row that moves glides to its new place, one that enters
   fades and slides in, one that leaves fades out. make leaderboard runs it against make server's
   Parse Server while a script writes scores. tests/leaderboard/check.c knows the layout below. */
#define LIVEQUERY_IMPLEMENTATION
#include "../livequery.h"
#include <SDL.h>
#include <SDL_ttf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { WIN_W = 640, WIN_H = 480, ROWS = 10, ROW_Y0 = 64, ROW_H = 36, FONT_PX = 20, ANIM_MS = 250,
       SLOTS = 32 };
static const SDL_Color BG = {18, 22, 34, 255}, ROW_BG = {38, 46, 70, 255}, INK = {235, 235, 235, 255},
                       LIVE = {110, 220, 120, 255}, WAIT = {240, 190, 80, 255};

static const char usage[] =
    "usage: leaderboard [options]\n"
    "  -s, --server URL          default env PARSE_SERVER_URL, else ws://127.0.0.1:1337/parse\n"
    "  -a, --app-id ID           default env PARSE_APP_ID, else testAppId\n"
    "  -k, --javascript-key KEY  default env PARSE_JAVASCRIPT_KEY, else testJsKey\n"
    "  -m, --master-key KEY      default env PARSE_MASTER_KEY\n"
    "  -c, --class NAME          default GameScore (fields playerName and score)\n"
    "      --font FILE           a TTF; default env LEADERBOARD_FONT, else DejaVuSans\n"
    "      --for SEC             end after SEC seconds (closing the window or Esc ends it too)\n"
    "      --rows-file FILE      after each change, once drawn and settled: rank, name, score\n";

/* A row on screen. It animates from (from_y, from_a) to (to_y, to_a) from start on. */
typedef struct slot {
    bool used;
    char id[40], name[64], score[32];
    int rank;                   /* 1-based; kept while it fades out */
    float from_y, to_y, from_a, to_a;
    uint64_t start;
} slot;

typedef struct board {
    slot s[SLOTS];
    bool changed, ever_ready;
    int exit_code;              /* -1 while running */
} board;

static float ease(uint64_t start, uint64_t now) {
    float t = now >= start + ANIM_MS ? 1.0f : (float)(now - start) / (float)ANIM_MS;
    return 1.0f - (1.0f - t) * (1.0f - t);
}
static float now_y(const slot *s, uint64_t now) { return s->from_y + (s->to_y - s->from_y) * ease(s->start, now); }
static float now_a(const slot *s, uint64_t now) { return s->from_a + (s->to_a - s->from_a) * ease(s->start, now); }

static void retarget(slot *s, float y, float a, uint64_t now) {
    s->from_y = now_y(s, now);
    s->from_a = now_a(s, now);
    s->to_y = y;
    s->to_a = a;
    s->start = now;
}

static void row_text(lq_json row, char *name, size_t name_cap, char *score, size_t score_cap) {
    lq_json_string(lq_json_get(row, "playerName"), name, name_cap);
    snprintf(score, score_cap, "%.0f", lq_json_number(lq_json_get(row, "score"), 0));
}

/* The view holds the truth; each slot is sent toward the row it now is (or out). */
static void sync_slots(board *b, const lq_view *v, uint64_t now) {
    int i, k;
    for (k = 0; k < SLOTS; k++) {
        slot *s = &b->s[k];
        int at = s->used ? lq_view_index_of(v, s->id) : -1;
        if (!s->used || (at < 0 && s->to_a == 0.0f)) continue;
        if (at < 0) retarget(s, s->to_y, 0.0f, now);
        else if (at + 1 != s->rank || s->to_a == 0.0f) retarget(s, (float)(ROW_Y0 + at * ROW_H), 1.0f, now);
        if (at >= 0) s->rank = at + 1;
    }
    for (i = 0; i < lq_view_count(v); i++) {
        lq_json row = lq_view_row(v, i);
        char id[40];
        slot *s = NULL;
        lq_json_string(lq_json_get(row, "objectId"), id, sizeof id);
        for (k = 0; k < SLOTS && !s; k++) if (b->s[k].used && strcmp(b->s[k].id, id) == 0) s = &b->s[k];
        for (k = 0; k < SLOTS && !s; k++) if (!b->s[k].used) {
            s = &b->s[k];
            memset(s, 0, sizeof *s);
            s->used = true;
            s->rank = i + 1;
            snprintf(s->id, sizeof s->id, "%s", id);
            s->from_y = s->to_y = (float)(ROW_Y0 + i * ROW_H);
            s->to_a = 1.0f;
            s->start = now;
        }
        if (!s) continue;       /* every slot is fading out: it appears on the next change */
        row_text(row, s->name, sizeof s->name, s->score, sizeof s->score);
    }
}

/* Lets go of the rows that have faded out; true when nothing moves any more. */
static bool settle(board *b, uint64_t now) {
    bool settled = true;
    int k;
    for (k = 0; k < SLOTS; k++) {
        if (!b->s[k].used || now >= b->s[k].start + ANIM_MS) {
            if (b->s[k].used && b->s[k].to_a == 0.0f) b->s[k].used = false;
        } else settled = false;
    }
    return settled;
}

static void on_view(lq_view *v, const lq_view_event *ev, void *user) {
    board *b = (board *)user;
    (void)v;
    b->changed = true;
    if (ev->type == LQ_VIEW_READY) b->ever_ready = true;
    if (ev->type == LQ_VIEW_ERROR) {
        fprintf(stderr, "leaderboard: %s %d: %s\n", ev->fatal ? "fatal error" : "error", ev->error_code,
                ev->error_message ? ev->error_message : lq_result_str(ev->result));
        if (ev->fatal) b->exit_code = 3;
    }
}

static void on_event(lq_client *c, const lq_event *ev, void *user) {
    board *b = (board *)user;
    (void)c;
    if (ev->type != LQ_EVENT_ERROR) return;
    fprintf(stderr, "leaderboard: %s: %s\n", ev->fatal ? "fatal error" : "error",
            ev->error_message ? ev->error_message : lq_result_str(ev->result));
    if (ev->fatal) b->exit_code = 3;
}

/* x is the left edge, or the right edge when right is set. */
static void draw_text(SDL_Renderer *r, TTF_Font *f, const char *text, int x, int y, bool right, SDL_Color ink, float a) {
    SDL_Surface *surf = text[0] ? TTF_RenderUTF8_Blended(f, text, ink) : NULL;
    SDL_Texture *tex = surf ? SDL_CreateTextureFromSurface(r, surf) : NULL;
    if (tex) {
        SDL_Rect dst;
        dst.x = right ? x - surf->w : x;
        dst.y = y;
        dst.w = surf->w;
        dst.h = surf->h;
        SDL_SetTextureAlphaMod(tex, (Uint8)(a * 255.0f + 0.5f));
        SDL_RenderCopy(r, tex, NULL, &dst);
        SDL_DestroyTexture(tex);
    }
    SDL_FreeSurface(surf);
}

static void draw(SDL_Renderer *r, TTF_Font *f, const board *b, const char *cls, const lq_view *v, uint64_t now) {
    char line[96];
    int k, pass, text_dy = (ROW_H - TTF_FontHeight(f)) / 2;
    SDL_SetRenderDrawColor(r, BG.r, BG.g, BG.b, 255);
    SDL_RenderClear(r);
    snprintf(line, sizeof line, "Top %d of %s", ROWS, cls);
    draw_text(r, f, line, 24, 20, false, INK, 1.0f);
    for (pass = 0; pass < 2; pass++) for (k = 0; k < SLOTS; k++) {   /* rows on the move on top */
        const slot *s = &b->s[k];
        float a = now_a(s, now);
        int y = (int)(now_y(s, now) + 0.5f), dx = (int)((1.0f - a) * 40.0f);  /* slides in from the right */
        SDL_Rect bar;
        if (!s->used || (now < s->start + ANIM_MS && s->from_y != s->to_y) != (pass == 1)) continue;
        bar.x = 16 + dx; bar.y = y + 2; bar.w = WIN_W - 32; bar.h = ROW_H - 4;
        SDL_SetRenderDrawColor(r, ROW_BG.r, ROW_BG.g, ROW_BG.b, (Uint8)(a * 255.0f + 0.5f));
        SDL_RenderFillRect(r, &bar);
        snprintf(line, sizeof line, "%d.", s->rank);
        draw_text(r, f, line, 64 + dx, y + text_dy, true, INK, a);
        draw_text(r, f, s->name, 80 + dx, y + text_dy, false, INK, a);
        draw_text(r, f, s->score, WIN_W - 32 + dx, y + text_dy, true, INK, a);
    }
    if (lq_view_is_ready(v)) draw_text(r, f, "live", 24, WIN_H - 40, false, LIVE, 1.0f);
    else draw_text(r, f, b->ever_ready ? "stale: reconnecting" : "connecting", 24, WIN_H - 40, false, WAIT, 1.0f);
}

static void write_rows(const char *path, const lq_view *v) {
    char tmp[1024];
    FILE *out;
    int i;
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    if (!(out = fopen(tmp, "w"))) { fprintf(stderr, "leaderboard: cannot write %s\n", tmp); return; }
    for (i = 0; i < lq_view_count(v); i++) {
        char name[64], score[32];
        row_text(lq_view_row(v, i), name, sizeof name, score, sizeof score);
        fprintf(out, "%d\t%s\t%s\n", i + 1, name, score);
    }
    if (fclose(out) != 0 || rename(tmp, path) != 0) fprintf(stderr, "leaderboard: cannot write %s\n", path);
}

static const char *env_or(const char *name, const char *def) { return getenv(name) ? getenv(name) : def; }

int main(int argc, char **argv) {
    static board b;
    const char *cls = "GameScore", *font_file = env_or("LEADERBOARD_FONT", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf");
    const char *rows_file = NULL;
    lq_desc desc = LQ_ZERO;
    lq_view_desc vd = LQ_ZERO;
    lq_client *c = NULL;
    lq_view *v = NULL;
    SDL_Window *win = NULL;
    SDL_Renderer *ren = NULL;
    TTF_Font *font = NULL;
    double for_sec = 0;
    uint64_t start;
    bool unsaved = false;
    int i;

    desc.server_url = env_or("PARSE_SERVER_URL", "ws://127.0.0.1:1337/parse");
    desc.application_id = env_or("PARSE_APP_ID", "testAppId");
    desc.javascript_key = env_or("PARSE_JAVASCRIPT_KEY", "testJsKey");
    desc.master_key = getenv("PARSE_MASTER_KEY");
    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) { fputs(usage, stdout); return 0; }
        if (!val) { fprintf(stderr, "leaderboard: %s needs a value\n%s", a, usage); return 1; }
        i++;
        if (strcmp(a, "-s") == 0 || strcmp(a, "--server") == 0) desc.server_url = val;
        else if (strcmp(a, "-a") == 0 || strcmp(a, "--app-id") == 0) desc.application_id = val;
        else if (strcmp(a, "-k") == 0 || strcmp(a, "--javascript-key") == 0) desc.javascript_key = val;
        else if (strcmp(a, "-m") == 0 || strcmp(a, "--master-key") == 0) desc.master_key = val;
        else if (strcmp(a, "-c") == 0 || strcmp(a, "--class") == 0) cls = val;
        else if (strcmp(a, "--font") == 0) font_file = val;
        else if (strcmp(a, "--rows-file") == 0) rows_file = val;
        else if (strcmp(a, "--for") == 0) for_sec = atof(val);
        else { fprintf(stderr, "leaderboard: bad option %s %s\n%s", a, val, usage); return 1; }
    }

    b.exit_code = -1;
    desc.on_event = on_event;
    desc.user_data = &b;
    vd.class_name = cls;
    vd.where = "{\"score\":{\"$exists\":true}}";
    vd.order = "-score,playerName";
    vd.limit = ROWS;
    vd.on_event = on_view;
    vd.user_data = &b;
    if (lq_client_create(&desc, &c) != LQ_OK || lq_view_create(c, &vd, &v) != LQ_OK) {
        fprintf(stderr, "leaderboard: cannot start the view of %s on %s\n", cls, desc.server_url);
        lq_client_destroy(c);
        return 1;
    }
    if (SDL_Init(SDL_INIT_VIDEO) != 0 || TTF_Init() != 0) fprintf(stderr, "leaderboard: %s\n", SDL_GetError());
    else if (!(font = TTF_OpenFont(font_file, FONT_PX))) fprintf(stderr, "leaderboard: font %s: %s\n", font_file, TTF_GetError());
    else if (!(win = SDL_CreateWindow("livequery leaderboard", SDL_WINDOWPOS_CENTERED, SDL_WINDOWPOS_CENTERED, WIN_W, WIN_H, 0)) ||
             !(ren = SDL_CreateRenderer(win, -1, 0))) fprintf(stderr, "leaderboard: %s\n", SDL_GetError());
    if (ren) SDL_SetRenderDrawBlendMode(ren, SDL_BLENDMODE_BLEND);
    else b.exit_code = 1;
    if (ren && strcmp(SDL_GetCurrentVideoDriver(), "offscreen") == 0)
        fprintf(stderr, "leaderboard: no display (DISPLAY is not set): the window is not shown\n");

    start = lq_now_ms();
    while (b.exit_code < 0) {
        SDL_Event e;
        uint64_t now;
        while (SDL_PollEvent(&e))
            if (e.type == SDL_QUIT || (e.type == SDL_KEYDOWN && e.key.keysym.sym == SDLK_ESCAPE)) b.exit_code = 0;
        lq_step(c);                                         /* never blocks: once per frame */
        now = lq_now_ms();
        if (for_sec > 0 && (double)(now - start) >= for_sec * 1000.0) b.exit_code = 0;
        if (b.changed) {
            sync_slots(&b, v, now);
            b.changed = false;
            unsaved = true;
        }
        draw(ren, font, &b, cls, v, now);
        SDL_RenderPresent(ren);
        if (settle(&b, now) && unsaved && rows_file && lq_view_is_ready(v)) {
            write_rows(rows_file, v);
            unsaved = false;
        }
        SDL_Delay(16);
    }
    lq_client_destroy(c);                                   /* and the view with it */
    if (font) TTF_CloseFont(font);
    if (ren) SDL_DestroyRenderer(ren);
    if (win) SDL_DestroyWindow(win);
    TTF_Quit();
    SDL_Quit();
    return b.exit_code;
}
