/* floats.c — IEEE arithmetic printed with %.17g: only correctly rounded operations (+ - * /
 * sqrt, conversions, rounding) and no a*b+c expressions a compiler may contract into an fma,
 * so any two conforming platforms print the same digits. */
#include <float.h>
#include <math.h>
#include <stdio.h>

static double leibniz_pi(int terms)
{
	double s = 0;
	for (int k = 0; k < terms; k++)
		s += (k % 2 ? -4.0 : 4.0) / (2 * k + 1);
	return s;
}

static double euler(int terms)
{
	double e = 1, t = 1;
	for (int k = 1; k < terms; k++) {
		t /= k;
		e += t;
	}
	return e;
}

static double newton_sqrt(double x)
{
	double g = x > 1 ? x / 2 : 1;
	for (int i = 0; i < 60; i++)
		g = 0.5 * (g + x / g);
	return g;
}

int main(void)
{
	volatile double zero = 0.0;
	printf("pi ~ %.17g\n", leibniz_pi(100000));
	printf("e ~ %.17g\n", euler(20));
	printf("sqrt(2) = %.17g newton %.17g\n", sqrt(2.0), newton_sqrt(2.0));
	printf("sqrtf(3) = %.9g\n", (double)sqrtf(3.0f));
	printf("0.1 + 0.2 = %.17g\n", 0.1 + 0.2);
	printf("1/3 = %.17g, 1/3f = %.9g\n", 1.0 / 3.0, (double)(1.0f / 3.0f));
	printf("floor %.17g ceil %.17g trunc %.17g rint %.17g\n", floor(-2.5), ceil(-2.5),
	       trunc(-2.5), rint(2.5));
	printf("fmin %.17g fmax %.17g copysign %.17g fabs %.17g\n", fmin(-0.0, 0.0),
	       fmax(1e300, 1e-300), copysign(3, -0.0), fabs(-7.25));
	printf("inf %g -inf %g nan? %d\n", 1 / zero, -1 / zero, isnan(zero / zero));
	printf("DBL_MAX %.17g DBL_MIN %.17g eps %.17g\n", DBL_MAX, DBL_MIN, DBL_EPSILON);
	printf("FLT_MAX %.9g denormal %.17g\n", (double)FLT_MAX, 4.9406564584124654e-324);
	printf("(int)-3.99 = %d, (long long)1e18 = %lld, (unsigned)3.5 = %u\n", (int)-3.99,
	       (long long)1e18, (unsigned)3.5);
	double acc = 0;
	for (int i = 1; i <= 1000; i++)
		acc += 1.0 / ((double)i * i);
	printf("sum 1/n^2 = %.17g\n", acc);
	float f = 1;
	/* Two statements: within one expression C lets the compiler fuse a*b+c into an fma, and
	 * clang does so when it folds this loop for wasm32, gcc does not for x86-64. */
	for (int i = 0; i < 30; i++) {
		f = f * 1.1f;
		f = f + 0.3f;
	}
	printf("float recurrence = %.9g\n", (double)f);
	printf("%e %E %f %.3f %g %G\n", 12345.678, 0.000123, 2.5, -1.0005, 1e-10, 1e20);
	return 0;
}
