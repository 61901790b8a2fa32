using Anima.Llm.Gguf;
using Anima.Llm.Kernels;

namespace Anima.Llm.Tests;

public sealed unsafe class KernelTests
{
    public static TheoryData<GgmlType> QuantizedTypes => [GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q5_0, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K];

    public static TheoryData<GgmlType> FloatTypes => [GgmlType.F32, GgmlType.F16, GgmlType.BF16];

    private static float[] RandomVector(int length, Random random)
    {
        var values = new float[length];
        for (var i = 0; i < length; i++)
        {
            values[i] = (float)(random.NextDouble() * 2 - 1) * (i % 7 == 0 ? 3 : 1);
        }

        return values;
    }

    [Theory]
    [MemberData(nameof(QuantizedTypes))]
    public void Dot_QuantizedTypes_MatchesReference(GgmlType type)
    {
        const int Columns = 1024;
        var random = new Random((int)type);
        var maximumDifference = 0.0;
        var maximumMagnitude = 0.0;
        for (var trial = 0; trial < 20; trial++)
        {
            var row = RandomWeights.Create(type, Columns, random);
            var activations = new QuantizedActivations(1, Columns);
            activations.Quantize(RandomVector(Columns, random), 1, QuantizedDot.NeedsSuperBlockScales(type));
            fixed (byte* rowPointer = row)
            {
                // The widest kernels this CPU has (AVX-512 for Q4_K/Q6_K where present) and the 256-bit ones.
                var optimized = QuantizedDot.Dot(type, rowPointer, activations.ValuesOf(0), activations.ScalesOf(0), activations.SumsOf(0), Columns);
                var narrow = QuantizedDot.Dot256(type, rowPointer, activations.ValuesOf(0), activations.ScalesOf(0), activations.SumsOf(0), Columns);
                var reference = QuantizedDot.Reference(type, rowPointer, activations.ValuesOf(0), activations.ScalesOf(0), Columns);
                maximumDifference = Math.Max(maximumDifference, Math.Max(Math.Abs(optimized - reference), Math.Abs(narrow - reference)));
                maximumMagnitude = Math.Max(maximumMagnitude, Math.Abs(reference));
            }
        }

        Assert.True(maximumMagnitude > 1e-3, $"{type}: the test vectors are degenerate");
        Assert.True(maximumDifference <= 1e-4 * Math.Max(1, maximumMagnitude), $"{type}: max abs diff {maximumDifference} (magnitude {maximumMagnitude})");
    }

    [Theory]
    [MemberData(nameof(QuantizedTypes))]
    public void Dot_QuantizedActivations_CloseToFloatProduct(GgmlType type)
    {
        const int Columns = 512;
        var random = new Random(100 + (int)type);
        var row = RandomWeights.Create(type, Columns, random);
        var x = RandomVector(Columns, random);
        var activations = new QuantizedActivations(1, Columns);
        activations.Quantize(x, 1, QuantizedDot.NeedsSuperBlockScales(type));
        fixed (byte* rowPointer = row)
        fixed (float* xPointer = x)
        {
            var exact = QuantizedDot.ReferenceFloat(type, rowPointer, xPointer, Columns);
            var quantized = QuantizedDot.Dot(type, rowPointer, activations.ValuesOf(0), activations.ScalesOf(0), activations.SumsOf(0), Columns);
            var weights = new float[Columns];
            Dequantize.Row(type, row, weights);
            var scale = System.Numerics.Tensors.TensorPrimitives.Norm(weights) * System.Numerics.Tensors.TensorPrimitives.Norm(x);
            // 8-bit activations lose about 1/254 of each value at most.
            Assert.True(Math.Abs(exact - quantized) <= scale * 0.01, $"{type}: exact {exact}, 8-bit {quantized}");
        }
    }

    [Theory]
    [MemberData(nameof(FloatTypes))]
    public void DotFloat_FloatTypes_MatchesReference(GgmlType type)
    {
        const int Columns = 333;
        var random = new Random(7);
        var row = RandomWeights.Create(type, Columns, random);
        var x = RandomVector(Columns, random);
        fixed (byte* rowPointer = row)
        fixed (float* xPointer = x)
        {
            var optimized = QuantizedDot.DotFloat(type, rowPointer, xPointer, Columns);
            var reference = QuantizedDot.ReferenceFloat(type, rowPointer, xPointer, Columns);
            Assert.True(Math.Abs(optimized - reference) <= 1e-5, $"{type}: {optimized} vs {reference}");
        }
    }

    [Fact]
    public void DequantizeQ8_0_KnownBlock_ScalesValues()
    {
        var block = new byte[34];
        BitConverter.TryWriteBytes(block.AsSpan(0, 2), (Half)0.5f);
        for (var i = 0; i < 32; i++)
        {
            block[2 + i] = (byte)(sbyte)(i - 16);
        }

        var values = new float[32];
        Dequantize.Row(GgmlType.Q8_0, block, values);
        Assert.Equal(-8f, values[0]);
        Assert.Equal(7.5f, values[31]);
    }

    [Fact]
    public void DequantizeQ4_K_KnownBlock_AppliesScaleAndMin()
    {
        var block = new byte[144];
        BitConverter.TryWriteBytes(block.AsSpan(0, 2), (Half)1f);
        BitConverter.TryWriteBytes(block.AsSpan(2, 2), (Half)0.5f);
        block[4] = 2; // scale of sub-block 0
        block[8] = 3; // min of sub-block 0
        block[16] = 0x5A; // value 0 = 0xA, value 32 = 0x5
        var values = new float[256];
        Dequantize.Row(GgmlType.Q4_K, block, values);
        Assert.Equal(1f * 2 * 10 - 0.5f * 3, values[0]);
        Assert.Equal(-1.5f, values[1]);
    }

    [Fact]
    public void MatMul_MultiThreaded_MatchesSingleThreaded()
    {
        const int Columns = 256;
        const int Rows = 100;
        const int Tokens = 5;
        var random = new Random(3);
        var weights = RandomWeights.Create(GgmlType.Q4_K, (long)Columns * Rows, random);
        var input = RandomVector(Columns * Tokens, random);
        using var directory = new TemporaryDirectory();
        var path = directory.File("m.gguf");
        new GgufWriter().AddTensor("w", [Columns, Rows], GgmlType.Q4_K, weights).Write(path);
        using var file = GgufFile.Open(path);
        var matrix = new WeightMatrix(file.GetTensor("w"));
        var activations = new QuantizedActivations(Tokens, Columns);
        activations.Quantize(input, Tokens, superBlock: true);
        var single = new float[Tokens * Rows];
        var multi = new float[Tokens * Rows];
        fixed (float* inputPointer = input, singlePointer = single, multiPointer = multi)
        {
            MatMul.Multiply(matrix, inputPointer, activations, singlePointer, Tokens, Rows, threads: 1);
            MatMul.Multiply(matrix, inputPointer, activations, multiPointer, Tokens, Rows, threads: 3);
        }

        Assert.Equal(single, multi);
        Assert.Contains(single, value => value != 0);
    }

    [Fact]
    public void Multiply_SeveralProductsInOneLoop_MatchesEachAlone()
    {
        const int Columns = 256;
        const int Tokens = 6;
        int[] rows = [48, 16, 37];
        GgmlType[] types = [GgmlType.Q4_K, GgmlType.Q6_K, GgmlType.Q8_0];
        var random = new Random(4);
        using var directory = new TemporaryDirectory();
        var path = directory.File("m.gguf");
        var writer = new GgufWriter();
        for (var m = 0; m < rows.Length; m++)
        {
            writer.AddTensor($"w{m}", [Columns, rows[m]], types[m], RandomWeights.Create(types[m], (long)Columns * rows[m], random));
        }

        writer.Write(path);
        using var file = GgufFile.Open(path);
        var matrices = Enumerable.Range(0, rows.Length).Select(m => new WeightMatrix(file.GetTensor($"w{m}"))).ToArray();
        var input = RandomVector(Columns * Tokens, random);
        var activations = new QuantizedActivations(Tokens, Columns);
        activations.Quantize(input, Tokens, superBlock: true);
        var alone = rows.Select(r => new float[Tokens * r]).ToArray();
        var together = rows.Select(r => new float[Tokens * r]).ToArray();
        fixed (float* inputPointer = input, a0 = alone[0], a1 = alone[1], a2 = alone[2], t0 = together[0], t1 = together[1], t2 = together[2])
        {
            MatMul.Multiply(matrices[0], inputPointer, activations, a0, Tokens, rows[0], threads: 1);
            MatMul.Multiply(matrices[1], inputPointer, activations, a1, Tokens, rows[1], threads: 1);
            MatMul.Multiply(matrices[2], inputPointer, activations, a2, Tokens, rows[2], threads: 1);
            MatMul.Multiply([new(matrices[0], t0, rows[0]), new(matrices[1], t1, rows[1]), new(matrices[2], t2, rows[2])], inputPointer, activations, Tokens, threads: 2);
        }

        for (var m = 0; m < rows.Length; m++)
        {
            Assert.Equal(alone[m], together[m]);
            Assert.Contains(alone[m], value => value != 0);
        }
    }

    [Theory]
    [InlineData(64)]
    [InlineData(128)]
    [InlineData(8)]
    [InlineData(40)]
    [InlineData(20)]
    public void AttentionKernels_MatchReference(int headDimension)
    {
        const int Positions = 37;
        const int Stride = 3 * 128;
        var random = new Random(headDimension);
        var query = RandomVector(headDimension, random);
        var cache = RandomVector(Positions * Stride, random);
        var weights = RandomVector(Positions, random);
        var output = new float[headDimension];
        var expected = new float[headDimension];
        fixed (float* q = query, rows = cache, w = weights, o = output)
        {
            for (var t = 0; t < Positions; t++)
            {
                var reference = AttentionKernels.ReferenceDot(query, cache.AsSpan(t * Stride + 128, headDimension));
                Assert.True(Math.Abs(AttentionKernels.Dot(q, rows + t * Stride + 128, headDimension) - reference) <= 1e-5 * Math.Max(1, Math.Abs(reference)));
            }

            // All the scores at once (four keys at a time, then the odd ones), scaled.
            var scores = new float[Positions];
            fixed (float* s = scores)
            {
                AttentionKernels.Scores(q, rows + 128, Stride, Positions, headDimension, 0.125f, s);
            }

            for (var t = 0; t < Positions; t++)
            {
                var reference = 0.125 * AttentionKernels.ReferenceDot(query, cache.AsSpan(t * Stride + 128, headDimension));
                Assert.True(Math.Abs(scores[t] - reference) <= 1e-5 * Math.Max(1, Math.Abs(reference)), $"score {t}: {scores[t]} vs {reference}");
            }

            AttentionKernels.WeightedSum(w, rows + 128, Stride, Positions, o, headDimension);
        }

        AttentionKernels.ReferenceWeightedSum(weights, cache.AsSpan(128), Stride, expected);
        for (var d = 0; d < headDimension; d++)
        {
            Assert.True(Math.Abs(output[d] - expected[d]) <= 1e-5 * Math.Max(1, Math.Abs(expected[d])), $"column {d}: {output[d]} vs {expected[d]}");
        }
    }

    [Theory]
    [MemberData(nameof(QuantizedTypes))]
    public void Dot4_FourTokens_MatchesSingleTokenDot(GgmlType type)
    {
        Assert.SkipUnless(QuantizedDot.HasDot4(type), $"no four-token kernel for {type} on this CPU");
        const int Columns = 768;
        var random = new Random(200 + (int)type);
        var row = RandomWeights.Create(type, Columns, random);
        var activations = new QuantizedActivations(6, Columns);
        activations.Quantize(RandomVector(Columns * 6, random), 6, QuantizedDot.NeedsSuperBlockScales(type));
        var four = new float[4];
        fixed (byte* rowPointer = row)
        fixed (float* fourPointer = four)
        {
            QuantizedDot.Dot4(type, rowPointer, activations, 2, Columns, fourPointer);
            for (var t = 0; t < 4; t++)
            {
                var single = QuantizedDot.Dot(type, rowPointer, activations.ValuesOf(2 + t), activations.ScalesOf(2 + t), activations.SumsOf(2 + t), Columns);
                var reference = QuantizedDot.Reference(type, rowPointer, activations.ValuesOf(2 + t), activations.ScalesOf(2 + t), Columns);
                Assert.True(Math.Abs(four[t] - single) <= 1e-4 * Math.Max(1, Math.Abs(single)), $"{type} token {t}: {four[t]} vs {single}");
                Assert.True(Math.Abs(four[t] - reference) <= 1e-4 * Math.Max(1, Math.Abs(reference)), $"{type} token {t}: {four[t]} vs reference {reference}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(QuantizedTypes))]
    public void Dot2x4_TwoRowsFourTokens_MatchesReference(GgmlType type)
    {
        Assert.SkipUnless(QuantizedDot.HasDot2x4(type), $"no two-row kernel for {type} on this CPU");
        const int Columns = 1024;
        var random = new Random(300 + (int)type);
        var rows = RandomWeights.Create(type, 2 * Columns, random);
        var rowBytes = (int)GgmlTypeInfo.ByteCount(type, Columns);
        var activations = new QuantizedActivations(7, Columns);
        activations.Quantize(RandomVector(Columns * 7, random), 7, QuantizedDot.NeedsSuperBlockScales(type));
        var output = new float[8];
        fixed (byte* rowPointer = rows)
        fixed (float* outputPointer = output)
        {
            QuantizedDot.Dot2x4(type, rowPointer, rowPointer + rowBytes, activations, 3, Columns, outputPointer);
            for (var r = 0; r < 2; r++)
            {
                for (var t = 0; t < 4; t++)
                {
                    var reference = QuantizedDot.Reference(type, rowPointer + r * rowBytes, activations.ValuesOf(3 + t), activations.ScalesOf(3 + t), Columns);
                    Assert.True(Math.Abs(output[4 * r + t] - reference) <= 1e-4 * Math.Max(1, Math.Abs(reference)), $"{type} row {r} token {t}: {output[4 * r + t]} vs reference {reference}");
                }
            }
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Quantize_OnSeveralThreads_IsTheSameAsOnOne(bool superBlock)
    {
        const int Columns = 512;
        const int Rows = 37;
        var source = RandomVector(Columns * Rows, new Random(43));
        var single = new QuantizedActivations(Rows, Columns);
        var parallel = new QuantizedActivations(Rows, Columns);
        single.Quantize(source, Rows, superBlock);
        fixed (float* pointer = source)
        {
            parallel.Quantize(pointer, Rows, superBlock, threads: 2);
        }

        Assert.Equal(Rows, parallel.Rows);
        Assert.Equal(superBlock, parallel.SuperBlockScaled);
        Assert.Equal(single.Values, parallel.Values);
        Assert.Equal(single.Scales, parallel.Scales);
        Assert.Equal(single.Sums, parallel.Sums);
        if (superBlock)
        {
            for (var row = 0; row < Rows; row++)
            {
                Assert.Equal(new ReadOnlySpan<sbyte>(single.Q4KOrderOf(row), Columns).ToArray(), new ReadOnlySpan<sbyte>(parallel.Q4KOrderOf(row), Columns).ToArray());
                Assert.Equal(new ReadOnlySpan<short>(single.PairSumsOf(row), Columns / 32).ToArray(), new ReadOnlySpan<short>(parallel.PairSumsOf(row), Columns / 32).ToArray());
            }
        }
    }

    [Fact]
    public void Q4KOrder_IsTheNibbleOrderOfAQ4KBlock_AndOnlyWithSuperBlockScales()
    {
        const int Columns = 512;
        var random = new Random(41);
        var activations = new QuantizedActivations(2, Columns);
        activations.Quantize(RandomVector(Columns * 2, random), 2);
        Assert.Throws<InvalidOperationException>(() => activations.Q4KOrderOf(0));

        activations.Quantize(RandomVector(Columns * 2, random), 2, superBlock: true);
        for (var row = 0; row < 2; row++)
        {
            var values = activations.ValuesOf(row);
            var order = activations.Q4KOrderOf(row);
            var pairSums = activations.PairSumsOf(row);
            var sums = activations.SumsOf(row);
            for (var i = 0; i < Columns; i++)
            {
                // Position i of the reordered row: 64-value register (i / 64) of its 128-value half, byte i % 32 within it.
                var half = i / 128 * 128;
                var register = i % 128 / 64;
                var second = i % 64 / 32;
                var source = half + (register == 0 ? 0 : 32) + (second == 0 ? 0 : 64) + i % 32;
                Assert.Equal(values[source], order[i]);
            }

            for (var pair = 0; pair < Columns / 32; pair++)
            {
                Assert.Equal(sums[2 * pair] + sums[2 * pair + 1], pairSums[pair]);
            }
        }
    }

    [Theory]
    [MemberData(nameof(QuantizedTypes))]
    public void Dot4Rows_FourRowsOneToken_MatchesReference(GgmlType type)
    {
        Assert.SkipUnless(QuantizedDot.HasDot4Rows(type), $"no four-row kernel for {type} on this CPU");
        const int Columns = 1280;
        var random = new Random(400 + (int)type);
        var rows = RandomWeights.Create(type, 5 * Columns, random);
        var rowBytes = (int)GgmlTypeInfo.ByteCount(type, Columns);
        var activations = new QuantizedActivations(3, Columns);
        activations.Quantize(RandomVector(Columns * 3, random), 3, QuantizedDot.NeedsSuperBlockScales(type));
        var output = new float[4];
        var maximumMagnitude = 0.0;
        fixed (byte* rowPointer = rows)
        fixed (float* outputPointer = output)
        {
            // Rows 1-4 against token 2: neither the first row nor the first token, so offsets are exercised.
            QuantizedDot.Dot4Rows(type, rowPointer + rowBytes, rowBytes, activations, 2, Columns, outputPointer);
            for (var r = 0; r < 4; r++)
            {
                var reference = QuantizedDot.Reference(type, rowPointer + (r + 1) * rowBytes, activations.ValuesOf(2), activations.ScalesOf(2), Columns);
                maximumMagnitude = Math.Max(maximumMagnitude, Math.Abs(reference));
                Assert.True(Math.Abs(output[r] - reference) <= 1e-4 * Math.Max(1, Math.Abs(reference)), $"{type} row {r}: {output[r]} vs reference {reference}");
            }
        }

        Assert.True(maximumMagnitude > 1e-3, $"{type}: the test vectors are degenerate");
    }

    [Theory]
    [InlineData(GgmlType.Q8_0, 896)]
    [InlineData(GgmlType.Q5_0, 896)]
    [InlineData(GgmlType.Q8_0, 864)]
    [InlineData(GgmlType.Q5_0, 864)]
    public void Dot2x4Int8_UnpackedRows_MatchReference(GgmlType type, int columns)
    {
        Assert.SkipUnless(QuantizedDot.HasDot2x4Int8, "no AVX-512BW on this CPU");
        var random = new Random(500 + columns + (int)type);
        var rows = RandomWeights.Create(type, 2 * columns, random);
        var rowBytes = (int)GgmlTypeInfo.ByteCount(type, columns);
        var activations = new QuantizedActivations(6, columns);
        activations.Quantize(RandomVector(columns * 6, random), 6);
        var unpacked = new sbyte[2 * columns];
        var rowScales = new float[2 * columns / 32];
        var output = new float[8];
        var dequantized = new float[columns];
        fixed (byte* rowPointer = rows)
        fixed (sbyte* unpackedPointer = unpacked)
        fixed (float* scalePointer = rowScales)
        fixed (float* outputPointer = output)
        {
            for (var r = 0; r < 2; r++)
            {
                if (type == GgmlType.Q8_0)
                {
                    QuantizedDot.UnpackQ8_0(rowPointer + r * rowBytes, columns, unpackedPointer + r * columns, scalePointer + r * columns / 32);
                }
                else
                {
                    QuantizedDot.UnpackQ5_0Signed(rowPointer + r * rowBytes, columns, unpackedPointer + r * columns, scalePointer + r * columns / 32);
                }

                // The unpacked row is exactly the plain dequantization: value · block scale.
                Dequantize.Row(type, rows.AsSpan(r * rowBytes, rowBytes), dequantized);
                for (var i = 0; i < columns; i++)
                {
                    Assert.Equal(dequantized[i], unpacked[r * columns + i] * rowScales[r * columns / 32 + i / 32]);
                }
            }

            QuantizedDot.Dot2x4Int8(unpackedPointer, unpackedPointer + columns, scalePointer, scalePointer + columns / 32, activations, 2, columns, outputPointer);
            for (var r = 0; r < 2; r++)
            {
                for (var t = 0; t < 4; t++)
                {
                    var reference = QuantizedDot.Reference(type, rowPointer + r * rowBytes, activations.ValuesOf(2 + t), activations.ScalesOf(2 + t), columns);
                    Assert.True(Math.Abs(output[4 * r + t] - reference) <= 1e-4 * Math.Max(1, Math.Abs(reference)), $"row {r} token {t}: {output[4 * r + t]} vs reference {reference}");
                }
            }
        }
    }

    [Fact]
    public void Quantize_Activations_MatchesPlainRounding()
    {
        var random = new Random(11);
        var input = RandomVector(512, random);
        input[5] = 0.5f * input[0];
        var activations = new QuantizedActivations(1, 512);
        activations.Quantize(input, 1);
        for (var block = 0; block < 16; block++)
        {
            var slice = input.AsSpan(block * 32, 32);
            var scale = slice.ToArray().Max(Math.Abs) / 127f;
            Assert.Equal(scale, activations.Scales[block]);
            int sum0 = 0, sum1 = 0;
            for (var j = 0; j < 32; j++)
            {
                var expected = (int)MathF.Round(slice[j] / scale * 1, MidpointRounding.ToEven);
                var actual = activations.Values[block * 32 + j];
                Assert.InRange(actual - expected, -1, 1); // x * (1/scale) and x / scale may round differently at .5
                if (j < 16)
                {
                    sum0 += actual;
                }
                else
                {
                    sum1 += actual;
                }
            }

            Assert.Equal(sum0, activations.Sums[2 * block]);
            Assert.Equal(sum1, activations.Sums[2 * block + 1]);
            Assert.Contains(activations.Values.Skip(block * 32).Take(32), value => Math.Abs((int)value) == 127);
        }
    }
}
