/*
 * render: the demo "draw a picture, takes about a minute" job handler.
 *
 * It draws the Mandelbrot set (smooth colouring through a cyclic palette)
 * into image.png in its working directory, one row at a time: each row is
 * computed, handed to png_write_row and forgotten, so memory stays at one
 * row whatever the size.  After each row it prints
 *
 *     progress <pct> rendering row <r> of <h>
 *
 * and, when the file is complete, "file image.png image/png" and a result
 * line with the image's URL.  It is also a small example of a job handler
 * written in C with the kit (handler.h); see README.md, "Writing a job
 * handler", for the protocol.
 *
 * stdin is the job as JSON; the fields it reads (all optional):
 *     seconds  0..3600 (60)   pace the render to take about this long;
 *                             0 renders as fast as it can
 *     width    16..4096 (640)
 *     height   16..4096 (480)
 * A value may be a JSON number or a numeric string.  A bad value is
 * reported on stderr and the exit status is 2.
 *
 * The image is written as image.png.part and renamed when complete, so a
 * cancelled or failed render never leaves a truncated image.png behind;
 * SIGTERM (cancel) removes the partial file and dies as usual.
 *
 * Build: cc -o render render.c handler.c \
 *            $(pkg-config --cflags --libs libpng json-c) -lm
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json.h>
#include <png.h>

#include "handler.h"

#define PART_NAME "image.png.part"
#define FINAL_NAME "image.png"

/* What to draw and how long to take. */
struct params {
	int seconds;
	int width;
	int height;
};

/* The part of the complex plane shown, and how hard to look. */
struct view {
	double x0;		/* real part at the left edge */
	double y0;		/* imaginary part at the top edge */
	double step;		/* plane units per pixel */
	int max_iter;
};

/* A palette stop: a position in [0, 1) and a colour. */
struct stop {
	double pos;
	double rgb[3];
};

/* Deep blue through white and gold to near black, and round again. */
static const struct stop palette[] = {
	{ 0.0000, { 0, 7, 100 } },
	{ 0.1600, { 32, 107, 203 } },
	{ 0.4200, { 237, 255, 255 } },
	{ 0.6425, { 255, 170, 0 } },
	{ 0.8575, { 0, 2, 0 } },
};
#define NSTOPS (sizeof palette / sizeof palette[0])

/* SIGTERM/SIGINT: remove the partial image, then die of the signal. */
static void
on_signal(int sig)
{
	unlink(PART_NAME);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Reads the job's fields; a bad value ends the job (exit status 2). */
static void
read_params(struct params *p)
{
	handler_init();
	p->seconds = handler_field_int("seconds", 60, 0, 3600);
	p->width = handler_field_int("width", 640, 16, 4096);
	p->height = handler_field_int("height", 480, 16, 4096);
}

/* Frames the picture: spirals in the seahorse valley, 0.012 wide. */
static void
view_init(struct view *v, int width, int height)
{
	const double cx = -0.7436, cy = 0.1318, span = 0.012;

	v->step = span / width;
	v->x0 = cx - v->step * (width - 1) / 2;
	v->y0 = cy + v->step * (height - 1) / 2;
	v->max_iter = 600;
}

/* 1 if c lies in the main cardioid or the period-2 bulb (always inside). */
static int
in_main_bulbs(double x, double y)
{
	double q, xq = x - 0.25;

	q = xq * xq + y * y;
	if (q * (q + xq) <= 0.25 * y * y)
		return 1;
	return (x + 1) * (x + 1) + y * y <= 0.0625;
}

/* Smooth escape count of c = x + iy, or -1 if it does not escape. */
static double
escape_time(double x, double y, int max_iter)
{
	double zx = 0, zy = 0, zx2 = 0, zy2 = 0;
	int i;

	if (in_main_bulbs(x, y))
		return -1;
	for (i = 0; i < max_iter; i++) {
		zy = 2 * zx * zy + y;
		zx = zx2 - zy2 + x;
		zx2 = zx * zx;
		zy2 = zy * zy;
		if (zx2 + zy2 > 256.0)
			return fmax(0, i + 1 - log2(0.5 * log(zx2 + zy2)));
	}
	return -1;
}

/* Colour at position t in [0, 1) of the cyclic palette, smoothly blended. */
static void
palette_colour(double t, png_bytep rgb)
{
	const struct stop *a, *b;
	double span, f;
	size_t i;
	int k;

	for (i = 0; i + 1 < NSTOPS && palette[i + 1].pos <= t; i++)
		;
	a = &palette[i];
	b = &palette[(i + 1) % NSTOPS];
	span = (i + 1 < NSTOPS ? b->pos : 1.0) - a->pos;
	f = (t - a->pos) / span;
	f = f * f * (3 - 2 * f);	/* smoothstep: no visible bands at stops */
	for (k = 0; k < 3; k++)
		rgb[k] = (png_byte)lround(a->rgb[k] + (b->rgb[k] - a->rgb[k]) * f);
}

/* Colour of one point: the palette cycles with the log of the escape time. */
static void
shade(double mu, png_bytep rgb)
{
	double t;

	if (mu < 0) {
		rgb[0] = rgb[1] = rgb[2] = 0;
		return;
	}
	t = fmod(log1p(mu) * 0.55, 1.0);
	palette_colour(t, rgb);
}

/* Colour of pixel (x, y): the mean of 2x2 samples, which smooths jaggies. */
static void
shade_pixel(const struct view *v, int x, int y, png_bytep rgb)
{
	static const double off[2] = { -0.25, 0.25 };
	png_byte s[3];
	int sum[3] = { 0, 0, 0 };
	int i, j, k;

	for (i = 0; i < 2; i++)
		for (j = 0; j < 2; j++) {
			shade(escape_time(v->x0 + v->step * (x + off[i]),
			    v->y0 - v->step * (y + off[j]), v->max_iter), s);
			for (k = 0; k < 3; k++)
				sum[k] += s[k];
		}
	for (k = 0; k < 3; k++)
		rgb[k] = (png_byte)((sum[k] + 2) / 4);
}

/* Computes row y of the picture into row (width RGB triples). */
static void
render_row(const struct view *v, int width, int y, png_bytep row)
{
	int x;

	for (x = 0; x < width; x++)
		shade_pixel(v, x, y, row + 3 * x);
}

/* Sleeps until offset seconds after start on the monotonic clock. */
static void
sleep_until(const struct timespec *start, double offset)
{
	struct timespec when;
	double whole = floor(offset);

	when.tv_sec = start->tv_sec + (time_t)whole;
	when.tv_nsec = start->tv_nsec + (long)((offset - whole) * 1e9);
	if (when.tv_nsec >= 1000000000L) {
		when.tv_sec++;
		when.tv_nsec -= 1000000000L;
	}
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &when, NULL) ==
	    EINTR)
		;
}

/* libpng's error callback: report and unwind to write_png's setjmp. */
static void
png_fail(png_structp png, png_const_charp msg)
{
	fprintf(stderr, "libpng: %s\n", msg);
	png_longjmp(png, 1);
}

/* libpng's warning callback: pass it on as a log line on stderr. */
static void
png_warn(png_structp png, png_const_charp msg)
{
	(void)png;
	fprintf(stderr, "libpng warning: %s\n", msg);
}

/* Renders and writes every row to fp, paced; 0, or -1 after a libpng error. */
static int
write_png(const struct params *p, FILE *fp, png_bytep row)
{
	png_structp png;
	png_infop info = NULL;
	struct timespec start;
	struct view v;
	int y;

	png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, png_fail,
	    png_warn);
	if (png == NULL || (info = png_create_info_struct(png)) == NULL) {
		png_destroy_write_struct(&png, NULL);
		fprintf(stderr, "out of memory\n");
		return -1;
	}
	if (setjmp(png_jmpbuf(png))) {
		png_destroy_write_struct(&png, &info);
		return -1;
	}
	png_init_io(png, fp);
	png_set_IHDR(png, info, p->width, p->height, 8, PNG_COLOR_TYPE_RGB,
	    PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
	    PNG_FILTER_TYPE_DEFAULT);
	png_write_info(png, info);

	view_init(&v, p->width, p->height);
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (y = 0; y < p->height; y++) {
		render_row(&v, p->width, y, row);
		png_write_row(png, row);
		handler_progress((int)((y + 1) * 100LL / p->height),
		    "rendering row %d of %d", y + 1, p->height);
		if (p->seconds > 0)
			sleep_until(&start, (double)p->seconds * (y + 1) / p->height);
	}
	png_write_end(png, info);
	png_destroy_write_struct(&png, &info);
	return 0;
}

/* Writes PART_NAME completely, then renames it to FINAL_NAME; 0 or -1. */
static int
render_file(const struct params *p)
{
	png_bytep row;
	FILE *fp;
	int rc;

	row = handler_calloc((size_t)p->width, 3);
	fp = fopen(PART_NAME, "wb");
	if (fp == NULL)
		handler_fail("creating %s: %s", PART_NAME, strerror(errno));
	rc = write_png(p, fp, row);
	free(row);
	if (fflush(fp) != 0 || ferror(fp)) {
		fprintf(stderr, "writing %s: %s\n", PART_NAME,
		    strerror(errno));
		rc = -1;
	}
	if (fclose(fp) != 0 && rc == 0) {
		fprintf(stderr, "closing %s: %s\n", PART_NAME,
		    strerror(errno));
		rc = -1;
	}
	if (rc == 0 && rename(PART_NAME, FINAL_NAME) == -1) {
		fprintf(stderr, "renaming %s: %s\n", PART_NAME,
		    strerror(errno));
		rc = -1;
	}
	if (rc == -1)
		unlink(PART_NAME);
	return rc;
}

/* Prints the result line: the image's URL and size, built with json-c. */
static void
print_result(const struct params *p)
{
	/* Under the worker $LONGJOB_RESULT_URL/image.png, by hand image.png. */
	char *url = handler_file_url(FINAL_NAME);
	struct json_object *res;

	res = json_object_new_object();
	json_object_object_add(res, "img", json_object_new_string(url));
	json_object_object_add(res, "width", json_object_new_int(p->width));
	json_object_object_add(res, "height", json_object_new_int(p->height));
	handler_result(res);
	json_object_put(res);
	free(url);
}

/* Reads the job, renders the image, announces the artifact and the result. */
int
main(void)
{
	struct params p;

	read_params(&p);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	handler_progress(0, "rendering a %dx%d Mandelbrot image", p.width,
	    p.height);
	if (render_file(&p) == -1)
		return HANDLER_EXIT_FAILED;	/* the reason is on stderr */
	handler_file(FINAL_NAME, "image/png");
	print_result(&p);
	return handler_end();
}
