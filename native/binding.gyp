{
  "targets": [
    {
      "target_name": "dcgan_native_kernels",
      "sources": ["src/addon.cc", "src/convolutions.cc", "src/peak.cc", "src/pointwise.cc"],
      "cflags_cc": ["-O3", "-fno-math-errno", "-fno-trapping-math", "-std=c++17", "-fopenmp", "-fexceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "libraries": ["-ldnnl", "-fopenmp"]
    }
  ]
}
